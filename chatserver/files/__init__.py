"""File storage: uploads' bytes, kept in a local directory or S3-compatible object storage."""
