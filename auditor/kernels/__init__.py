"""Pure, vectorized kernels over Arrow arrays and numpy arrays. No I/O lives here."""
