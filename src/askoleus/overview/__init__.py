"""The staff console's overview: daily rollups of the question log, gap topics, charts."""
