"""Intercept audio: decoding, push-to-talk segments, landmark fingerprints, the library and matching.

Pure analysis (media in, values out): nothing here knows about cases; forensics.pipeline.analyses joins
these results with the custody records.
"""
