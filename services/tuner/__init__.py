"""The tuner: hyperparameter studies whose trials are scheduler jobs."""
