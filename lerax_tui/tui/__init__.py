"""The Textual app (imports Textual; core and train never import this package)."""
