"""A run's two records of what was trained must agree: `config.json` (the run config, which a
person may edit) and `model.json` (written with the weights: the architecture and the data the
model really saw). A hand-edited config.json that disagrees would make later commands trust
settings the weights were not trained with."""

import json

from ..errors import ConfigError
from ..rundir import RunDir


def record_disagreements(run_dir) -> dict[str, tuple]:
    """{"section.key": (config.json value, model.json value)} for every model setting and data
    setting both files record and in which they differ; {} when either file is missing."""
    run = RunDir(run_dir)
    if not (run.config_json.exists() and run.model_json.exists()):
        return {}
    saved = run.saved_config()
    try:
        model = json.loads(run.model_json.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read {run.model_json} ({e}); delete the run dir and train "
                          "again") from None
    trained = {"model": {"arch": model.get("arch"), **(model.get("config") or {})},
               "data": (model.get("meta") or {}).get("data") or {}}
    out = {}
    for section, truth in trained.items():
        for key, value in (saved.get(section) or {}).items():
            if key in truth and truth[key] != value:
                out[f"{section}.{key}"] = (value, truth[key])
    return out


def check_records(run_dir) -> None:
    """ConfigError when config.json and model.json of `run_dir` disagree
    (`record_disagreements`), naming the settings."""
    found = record_disagreements(run_dir)
    if found:
        shown = ", ".join(f"{k}: {a!r} in config.json, {b!r} in model.json"
                          for k, (a, b) in list(found.items())[:3])
        raise ConfigError(f"{run_dir}: config.json disagrees with the trained model's "
                          f"model.json ({shown}); config.json was edited after training: "
                          "restore it, or delete the run dir (or pass --retrain) to train again")
