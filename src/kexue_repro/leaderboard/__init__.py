"""Study 8783: GLUE/SuperGLUE leaderboards re-averaged with arithmetic, geometric and harmonic means.

arXiv:2112.01342 re-ranked the leaderboards with GM/HM and found models falling below the human
baseline; Su (https://kexue.fm/archives/8783) showed the paper averaged different task sets for the
human row and the model rows. This package scores every row under the official task set, under all
columns, and under the paper's mixed rule, and states the resulting claims.
"""
