"""What differs by language, kept as data: each language's fixed text (its catalogue in
layouts/languages/), its script and direction (from its BCP 47 tag), and the fonts its
script is set in (from the settings)."""
