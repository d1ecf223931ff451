"""Functional accuracy model: SNN inference through simulated non-ideal RRAM crossbars (numpy + scipy).

Modules: :mod:`crossbar.equations` (one pure function per equation), :mod:`crossbar.circuit` (exact IR drop via the
effective-conductance matrix), :mod:`crossbar.snn` (numpy SNN inference), :mod:`crossbar.mapping` (quantization,
encodings, tiling, chips, crossbar inference), :mod:`crossbar.experiments` (accuracy, BN adaptation, DT-SNN, sweep),
:mod:`crossbar.device` (the ``device:`` block of ``archspecs/spikeflow.yaml``), :mod:`crossbar.data` (scikit-learn
digits), :mod:`crossbar.model_io` (``.npz`` and state_dict loading), :mod:`crossbar.train` (optional, PyTorch).
Never imports ``mappers`` or ``spikeloop``.
"""
