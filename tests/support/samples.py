"""The bundled offline samples of the four public sources, loaded as ``make demo`` loads them."""

from __future__ import annotations

from diaspora import pipeline
from tests.support import sample_path, sample_url

SOURCES = ("worldbank_indicators", "undesa_migrant_stock", "unhcr_refugees", "knomad_bilateral_remittances")


def sample_settings() -> dict[str, str]:
    """The settings that point every source at its bundled sample (``make_settings(**…)``)."""
    return {
        "worldbank_base_url": sample_url("worldbank_indicators"),
        "undesa_ims_url": f"file://{sample_path('undesa_migrant_stock')}",
        "unhcr_base_url": sample_url("unhcr_refugees"),
        "knomad_matrix_url": f"file://{sample_path('knomad_bilateral_remittances')}",
    }


def load_samples(settings) -> None:  # noqa: ANN001 - diaspora.settings.Settings
    """Every source's sample through the pipeline's steps, one after the other."""
    for source in SOURCES:
        pipeline.run_source(source, settings)
