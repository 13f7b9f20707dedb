"""bench/web.py --ablation's variants, applied to the real templates: each still takes out what
its name says (its edits match), nginx accepts the result, and it still serves the cut."""

import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from test_web_nginx import LocalNginx, make_config

from prep_iac.components import nginx, waf

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import web_ablation

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs nginx")


@pytest.fixture
def site_dir():
    # nginx's workers (www-data) must reach the files: pytest's own tmp dirs are 0700.
    path = Path(tempfile.mkdtemp(prefix="prep-ablation-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def deployed(site: LocalNginx) -> dict[str, str]:
    """The site's files keyed by where the deploy puts them, the web-attack filter's included."""
    site.etc.joinpath("conf.d/prep-waf.conf").write_text(site.localize(waf.maps()))
    site.etc.joinpath("prep.d/waf.conf").write_text(site.localize(waf.snippet()))
    rels = [*nginx.CONFIG_FILES.values(), "conf.d/prep-waf.conf", "prep.d/waf.conf"]
    return {f"/etc/nginx/{rel}": (site.etc / rel).read_text() for rel in rels}


def test_every_variant_applies_passes_nginx_t_and_serves(site_dir):
    site = LocalNginx(site_dir, make_config(site_dir))
    site.cut("20210606_2000_PREP_A", {"index.html": "<p>a</p>"})
    texts = deployed(site)
    assert set(web_ablation.FILES) <= set(texts)
    for variant in web_ablation.variants():
        changed = web_ablation.apply(texts, variant)
        assert variant.name == "full as deployed" or changed != texts or variant.setup, variant
        for path, text in changed.items():
            Path(path.replace("/etc/nginx/", f"{site.etc}/")).write_text(text)
        assert site.test_config().returncode == 0, (variant.name, site.test_config().stderr)
        site.start()
        try:
            resp, body = site.request("GET", "/index.html")
        finally:
            site.stop()
        assert (resp.status, body) == (200, b"<p>a</p>"), variant.name


def test_an_edit_that_matches_nothing_is_refused():
    broken = web_ablation.Variant("gone", [(web_ablation.BODY, r"^no such line$", "")])
    with pytest.raises(SystemExit, match="matches nothing"):
        web_ablation.apply({web_ablation.BODY: "root /srv;\n"}, broken)
