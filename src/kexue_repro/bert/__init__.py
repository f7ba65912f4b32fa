"""The tiny Chinese BERT the CLUE studies fine-tune offline, and two MLM tools of study 8770.

corpus -> tokenizer -> pretrain -> evaluate -> claims build and check the model (results/bert/model/), one
module per step (``python -m kexue_repro.bert.<step>``); mlm_correction and droptoken are used by the
fine-tuning studies.
"""
