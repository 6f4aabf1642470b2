"""Each target's report: the frozen dataclasses an analysis returns and the results file stores.

One module per target, importing nothing but the standard library, so ``results`` (and so
``edgegate report``, reading a results file) needs none of the analyzers: no flatbuffer reader,
no Vela, no TFLite Micro. The analyzers import their report from here.
"""
