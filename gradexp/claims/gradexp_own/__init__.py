"""gradexp's own results (claim ids ``gx-…``): one subpackage, one module per topic.

Every non-underscore submodule here registers its claims on import; the ledger imports them
all (:func:`gradexp.claims.all_claims`).
"""
