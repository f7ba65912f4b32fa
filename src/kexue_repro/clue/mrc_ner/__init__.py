"""CLUE's reading-comprehension and NER tasks of post 8739 (CLUENER, CMRC2018, C3, CHID): encoding as the
post's code, GlobalPointer and multiple-choice models, the resumable fine-tuning job, and the claims."""
