"""Groups of practices (PCNs, federations, super-partnerships...) and their dated membership."""
