"""webapp/blueprints/models.py: manifests and content-addressed weights."""
from tests.conftest import ONNX_BYTES


def test_manifest_and_weights(client):
    manifest = client.get("/models/tiny.json").json
    response = client.get(f"/models/{manifest['sha256']}/{manifest['file']}")
    assert response.data == ONNX_BYTES


def test_weights_need_the_right_hash(client):
    assert client.get("/models/" + "0" * 64 + "/tiny.onnx").status_code == 404


def test_unknown_model_is_a_clear_404(client):
    response = client.get("/models/nope.json")
    assert response.status_code == 404
    assert "No model named" in response.get_data(as_text=True)


def test_path_tricks_are_refused(client):
    for path in ["/models/..%2Fpyproject.json", "/models/abc/../../pyproject.toml", "/models/x/..%2F..%2Fpyproject.onnx"]:
        assert client.get(path).status_code == 404, path


def test_corrupt_manifest_is_a_server_error_page(client, models_dir):
    (models_dir / "tiny.json").write_text("{not json")
    response = client.get("/models/tiny.json")
    assert response.status_code == 500
    assert "not valid JSON" in response.get_data(as_text=True)
