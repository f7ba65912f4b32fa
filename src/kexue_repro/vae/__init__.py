"""Study 8791: the VAE as density estimation by importance sampling, and IWAE (Burda et al. 2016).

Models trained on the k-sample bound L_k (k = 1: VAE, k > 1: IWAE) are evaluated with L_k for k up to
5,000 on binarized MNIST; a linear-Gaussian model with closed-form log p(x) checks the estimator itself.
Su (https://kexue.fm/archives/8791) writes q for the generative model and p for the encoder; this code
follows Kingma and Burda: p(x, z) the generative model, q(z | x) the encoder.
"""
