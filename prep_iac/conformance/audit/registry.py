"""The audit's checks: id -> (requirements, title). Waivers may name these ids."""

AUDIT_CHECKS: dict[str, tuple[tuple[str, ...], str]] = {
    "audit::sitio_disponible": (("CONV-I.1",), "El PREP responde y declara su estado"),
    "audit::acceso_libre": (("CONV-I.2",), "Acceso libre: sin credenciales, cookies ni login"),
    "audit::manifiesto_firmado": (("CONV-I.3", "CONV-I.9"),
                                  "Manifiesto firmado por el IEC (ssh-keygen -Y verify)"),
    "audit::archivos_identicos": (("CONV-I.3",),
                                  "Archivos servidos idénticos al manifiesto del IEC (SHA-256)"),
    "audit::formato_del_iec": (("CONV-I.3b",),
                               "Se sirven los archivos del IEC: ningún formato propio"),
    "audit::corte_vigente": (("CONV-I.10",), "Se muestra el último corte, vigente"),
    "audit::cabecera_corte": (("CONV-I.10",),
                              "estado.json y la cabecera X-PREP-Corte presentes y consistentes"),
    "audit::marcos": (("CONV-I.6",),
                      "frame-ancestors permite los orígenes del portal y ningún otro"),
    "audit::cabeceras_seguridad": (("INF-cabeceras",), "Cabeceras de seguridad"),
    "audit::tls_protocolos": (("INF-tls",), "TLS: sólo versiones 1.2 y 1.3"),
    "audit::tls_cifrados": (("INF-tls",), "TLS: sólo cifrados con secreto hacia adelante"),
    "audit::tls_certificado": (("INF-tls",), "TLS: certificado válido para el nombre"),
    "audit::puertos": (("CONV-II.d.1",), "Sólo los puertos esperados abiertos"),
    "audit::limite_solicitudes": (("CONV-II.d.1",),
                                  ("Una ráfaga de una sola dirección encuentra el límite (429) "
                                   "y la dirección vuelve a ser servida")),
    "audit::filtro_web": (("CONV-II.d.2",),
                          ("Ataques web rechazados (inyección, recorrido de rutas, sondeos, "
                           "escáneres, métodos) y la petición ordinaria servida")),
    "audit::sftp_clave_host": (("CONV-II.a.1",),
                               "Clave de host del SFTP igual a la del registro"),
    "audit::enlace": (("CONV-II.b.1",), "Descarga sostenida y corte dentro del periodo"),
}
