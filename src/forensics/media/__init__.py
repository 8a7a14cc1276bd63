"""Media analysis, in two halves that never import each other: video/ (frames, decoding, shots, rotation,
contact sheets) and metadata/ (what a file says of itself, read from its tags, containers and makers' blocks).
content_type, what a file is from its first bytes, is shared: the metadata readers, ingest and dedup use it.
"""
