"""Sources: the edge where files become Arrow record batches. Errors here name the file and the fix."""

# The metadata columns of the post record every posts reader yields (sources.posts), all strings. Here, not
# in sources.posts, so that the scan side can name them without importing every export reader.
POST_METADATA = ("created_at", "author", "url", "platform", "kind")
