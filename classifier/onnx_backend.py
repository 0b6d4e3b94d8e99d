"""The runtime back end: the exported network on ONNX Runtime (CPU), the tokenizer on `tokenizers`.

It needs neither torch nor transformers, so the service installs in a few hundred megabytes and a
classify run starts in about a second. `wagewatch train` writes `model.onnx` beside the torch weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from wagewatch.classifier.textmodel import ONNX_FILE, QUANTIZED_ONNX_FILE, BatchedTwoHeadModel, ModelMeta

TOKENIZER_FILE = "tokenizer.json"


class OnnxTextModel(BatchedTwoHeadModel):
    def __init__(
        self, session: onnxruntime.InferenceSession, tokenizer: Tokenizer, meta: ModelMeta, batch_size: int = 64
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.meta = meta
        self.version = meta.version
        self.batch_size = batch_size

    @classmethod
    def load(
        cls, directory: str | Path, batch_size: int = 64, threads: int | None = None, quantized: bool = True
    ) -> OnnxTextModel:
        directory = Path(directory)
        path = directory / (QUANTIZED_ONNX_FILE if quantized else ONNX_FILE)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: export it with `wagewatch train --out {directory}`, "
                "or set inference.quantized: false (float model) or inference.backend: torch in config/classifier.yaml"
            )
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = ModelMeta.load(directory)
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        tokenizer.enable_truncation(max_length=meta.max_length)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        return cls(session, tokenizer, meta, batch_size=batch_size)

    def run_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        label_logits, severity_logits = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return label_logits, severity_logits
