"""The base layer: configuration model, user errors, YAML loading, source keys, progress and the
warehouse file helpers. It imports none of commstats' other packages, so every one of them may
import it.
"""
