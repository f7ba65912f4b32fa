"""The post's reading-comprehension and NER tasks (8739): CMRC2018, C3, CHID and CLUENER, fine-tuned with
its heads (GlobalPointer spans, a score per choice, CHID's candidates assigned per passage) and judged."""
