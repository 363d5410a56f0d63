"""Data: the embedded digits-motion set, real-dataset loaders, video IO, the pool as data, hashing, augmentation."""
