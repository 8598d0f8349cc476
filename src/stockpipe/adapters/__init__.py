"""The adapters: these modules touch files, the network, or a framework's runtime; everything else in
stockpipe takes and returns data.

- ``io``: reading users' CSV files, parquet and JSON; atomic writes of files, folders and PNGs; the
  stage runner (logging set-up, one-line errors, exit status).
- ``http``: sessions, retries and answer checks shared by the providers.
- ``sources``: price providers (Yahoo, Stooq, Alpha Vantage) over HTTP.
- ``news_sources``, ``social_sources``: headline and post providers over HTTP.
- ``model``: Keras training, and saving and loading model files.
- ``fused``: the fused CPU LSTM kernel, the one module that uses TensorFlow/Keras internals.
- ``inference``: forecasts from saved model files.

Known exceptions in the core, small readers kept beside the parsing they serve:
``params.load_params`` reads params.yaml; ``prices`` and ``news`` read users' CSV files (through
``io.read_csv_table``) and ``prices`` the sample files bundled with ``arch`` and the file names matching
a data.path pattern; ``lexicons``, ``vader`` and ``learned`` read their bundled word lists, the
sentiment corpus and the learned model file; ``monitor.history_from_csv`` reads the history CSV;
``params.params_path`` reads the STOCKPIPE_PARAMS environment variable; ``sentiment.score_texts``
scores large batches in worker processes (and shows a progress bar).
"""
