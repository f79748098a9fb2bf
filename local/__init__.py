"""The local stack: everything that runs the upload pipeline on one machine for development."""
