"""The study: groups against England, trends, variation between members, characteristics."""
