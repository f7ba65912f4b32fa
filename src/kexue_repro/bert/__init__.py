"""The tiny Chinese BERT the CLUE studies fine-tune offline.

corpus -> tokenizer -> pretrain -> evaluate -> claims build and check the model (results/bert/model/), one
module per step (``python -m kexue_repro.bert.<step>``).
"""
