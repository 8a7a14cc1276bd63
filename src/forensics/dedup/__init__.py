"""Near-duplicate photos and videos: perceptual hashes, a Hamming index, temporal alignment, groups.

    media = [hash_media(path) for path in paths]          # media_hashes.py
    result = find_duplicates(media)                       # groups.py, align.py, index.py
    result.groups, result.matches

Pure analysis: files in, values out. Nothing here knows about cases (see forensics.pipeline.analyses).
"""
