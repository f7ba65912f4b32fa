"""The tiny Chinese BERT the CLUE studies fine-tune offline, and two MLM tools of study 8770.

corpus -> tokenizer -> pretrain -> evaluate build and check the model (results/bert/model/);
mlm_correction and droptoken are used by the fine-tuning studies.
"""
