"""The publisher's registry built on the controller from the typed inventory; the host reads
the JSON the deploy writes from it (prep_iac/onhost/publisher/registry.py)."""

from prep_iac.onhost.publisher.registry import DifusorEntry, Registry, WebsiteEntry


def installed_logos(inventory, logos_dir: str) -> dict[str, tuple[str, str]]:
    """{difusor: (its logo file here, its path under logos_dir on the publisher)} for the
    logos that are files: the deploy copies each there under the difusor's name."""
    # Imported here: the publisher host runs this module's neighbours without pydantic.
    from prep_iac.inventory.logos import logo_kind
    from prep_iac.inventory.types import is_url

    return {name: (d.logo, f"{logos_dir}/{name}{logo_kind(d.logo)}")
            for name, d in inventory.difusores.items() if d.logo and not is_url(d.logo)}


def from_inventory(inventory, publisher: str | None = None, *, sftp_identity: str | None = None,
                   signing_key: str | None = None, state_dir: str | None = None,
                   logos_dir: str | None = None) -> Registry:
    """The registry of one publisher of a typed inventory; paths may be overridden (the
    deploy points them at the copies it installs on the host)."""
    if not inventory.publishers:
        raise ValueError("the inventory has no publishers")
    name = publisher or next(iter(inventory.publishers))
    pub = inventory.publishers[name]
    logos = {n: there for n, (_, there) in installed_logos(inventory, logos_dir).items()} \
        if logos_dir else {}
    difusores = tuple(
        DifusorEntry(name=n, address=d.address, ssh_port=d.ssh_port, host_key=d.host_key,
                     organization=d.organization,
                     public_url=str(d.public_url) if d.public_url else None,
                     contact=d.contact.model_dump(mode="json") if d.contact else None,
                     logo=logos.get(n, d.logo))
        for n, d in inventory.difusores.items())
    iec = inventory.iec
    return Registry(
        difusores=difusores, jail_user=iec.jail_user, period_s=iec.period_s,
        timezone=iec.calendar.timezone, sftp_identity=sftp_identity or pub.sftp_identity,
        signing_key=signing_key or pub.signing_key, signers=tuple(iec.signers),
        drop_dir=pub.drop_dir, state_dir=state_dir or pub.state_dir,
        notify_webhook=str(pub.notify_webhook) if pub.notify_webhook else None,
        notify_mail=pub.notify_mail, process=iec.process,
        prep_opens=iec.calendar.prep_opens_at.isoformat(),
        prep_closes=iec.calendar.prep_closes_at.isoformat(),
        list_from=iec.calendar.public_list_starts_at.isoformat(),
        websites=tuple(WebsiteEntry(name=n, address=w.address, ssh_port=w.ssh_port,
                                    host_key=w.host_key, public_url=w.public_url)
                       for n, w in inventory.websites.items()))
