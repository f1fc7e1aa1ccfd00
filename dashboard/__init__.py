"""The Streamlit side of the scorecard: filters, cached data access, charts, tiles, labels, downloads, sign-in and the
briefing book's layout. Pages (pages/) are thin scripts over these; every number comes from `metrics`."""
