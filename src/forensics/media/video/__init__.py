"""Video: frames with exact presentation times (keyframes, one per shot, a fixed rate), planned from the packet
index and decoded GOP by GOP on every core; shot detection, display rotation, contact sheets, and the
deterministic PNG/JPEG encoding of the pictures. dedup/ samples its frames through the same decoder.
"""
