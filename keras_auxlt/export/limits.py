"""What an exported `serving_bytes` signature accepts, as plain constants (no TensorFlow, so that flag
modules can import them)."""

DEFAULT_MAX_PIXELS = 16 * 1024 * 1024  # 16 megapixels (4096 x 4096): larger images are refused undecoded
EXPORT_INFO_FILE = "export.json"  # in the SavedModel's assets/: the limits and facts the export was made with
