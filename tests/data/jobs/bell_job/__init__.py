"""A hybrid job package (uploaded as a folder by ``create_hybrid_job``)."""
