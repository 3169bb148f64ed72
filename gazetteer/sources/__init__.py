"""One module per data source. Each yields plain dict records for :mod:`gazetteer.build`.

A place record has the keys of the ``places`` table (``key, name, lat, lon, feature_class,
feature_code, country_code, admin1, population, source, source_id, wikidata``) plus
``names``: a list of ``(name, lang, kind)`` with kind one of ``official``, ``alternate``,
``short``, ``abbreviation``, ``historic``, ``demonym``.
"""
