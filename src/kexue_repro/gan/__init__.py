"""Study 8757: WGAN via gradient normalization (GN-GAN, GraN-GAN) and Su's objections, at smoke scale."""
