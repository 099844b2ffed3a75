"""Sources: the edge where files become Arrow record batches. Errors here name the file and the fix."""
