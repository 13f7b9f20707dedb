"""The requirements of the convocatoria, as the report shows them (Spanish). Each names how
it is proven and, where a machine cannot prove all of it, the evidence the difusor must attach
("manual"). catalogue.py writes them, with the checks that prove each, to docs/requisitos.md."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    id: str
    titulo: str
    convocatoria: str  # what the call says (Spanish, abridged)
    mandatory: bool = True
    # "dentro" (verify), "fuera" (audit), "laboratorio", "documentos", "calendario" (verify
    # judges a deadline of the call by its evidence: deadlines.py)
    proven_by: tuple[str, ...] = ()
    # What evidence to attach when no automated check decides it, or for the part that no
    # machine can prove (physical access, emergency power plant...). Empty: fully automated.
    evidencia_manual: str = ""


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "CONV-I.1", "Ventana de publicación",
        "Publicar desde la apertura del PREP (nunca antes de las 18:00 del día de la jornada) "
        "y como mínimo hasta las 23:59 del 15 de junio.",
        proven_by=("dentro", "fuera")),
    Requirement(
        "CONV-I.2", "Acceso libre y sin costo",
        "Los resultados deben estar disponibles sin costo para los usuarios de Internet.",
        proven_by=("fuera",),
        evidencia_manual="El informe de `prep-iac audit URL` contra la dirección pública del "
                         "difusor (sin cuenta, sin cookies, sin redirección a un login)."),
    Requirement(
        "CONV-I.3", "Formatos del IEC sin modificación",
        "La publicación se realiza en los formatos del IEC, sin modificación alguna.",
        proven_by=("fuera",),
        evidencia_manual="El informe de `prep-iac audit URL --manifest MANIFIESTO-FIRMADO`: "
                         "cada archivo servido idéntico byte a byte al manifiesto del IEC."),
    Requirement(
        "CONV-I.3b", "Formato propio solo con autorización del IEC",
        "El difusor que presente los datos en un formato propio requiere la autorización "
        "previa del IEC.",
        proven_by=("fuera",),
        evidencia_manual="El informe de `prep-iac audit URL --manifest MANIFIESTO-FIRMADO` "
                         "(los archivos servidos son los del IEC) o, si el difusor presenta "
                         "los datos en un formato propio, la autorización previa del IEC."),
    Requirement(
        "CONV-I.4", "Aviso de participación al IEC",
        "Notificar por escrito a la Dirección Ejecutiva de Innovación Electoral, con copia al "
        "Comité Técnico Asesor del PREP, a más tardar el 12 de mayo.",
        proven_by=("documentos", "calendario"),
        evidencia_manual="El aviso de participación (`prep-iac expediente`) firmado, con su "
                         "acuse de recibo fechado a más tardar el 12 de mayo."),
    Requirement(
        "CONV-I.5", "Infraestructura operando en fecha",
        "Contar con la infraestructura mínima operando (conexión, instalación y configuración "
        "incluidas) a más tardar el 14 de mayo.",
        proven_by=("dentro", "calendario"),
        evidencia_manual="Un informe de `prep-iac verify` fechado a más tardar el 14 de mayo."),
    Requirement(
        "CONV-I.6", "Marcos o pantalla completa en el portal del difusor",
        "El PREP puede mostrarse en el portal del difusor mediante marcos (frames) o de forma "
        "embebida o a pantalla completa.",
        proven_by=("fuera",),
        evidencia_manual="El informe de `prep-iac audit URL` (frame-ancestors con los orígenes "
                         "del portal) y una captura del portal mostrando el PREP enmarcado."),
    Requirement(
        "CONV-I.7", "Logotipo para la lista pública de difusores",
        "La lista de difusores es pública desde el 1 de junio en el sitio del IEC; cada "
        "difusor entrega el logotipo que liga a su sitio.",
        proven_by=("documentos", "calendario"),
        evidencia_manual="El logotipo entregado al IEC (formato y tamaño que la lista usa) y "
                         "la liga del difusor en la lista pública del IEC."),
    Requirement(
        "CONV-I.8", "Carta compromiso",
        "Compromiso por escrito: cumplir los requisitos, ética y responsabilidad cívica del "
        "personal, integridad de los datos, continuidad de la operación y confidencialidad de "
        "lo que el IEC comparta.",
        proven_by=("documentos",),
        evidencia_manual="La carta compromiso (`prep-iac expediente`) firmada por el "
                         "representante legal."),
    Requirement(
        "CONV-I.9", "Los datos publicados provienen del IEC",
        "El difusor asegura que la información publicada tiene como origen los datos del IEC.",
        proven_by=("dentro", "laboratorio")),
    Requirement(
        "CONV-I.10", "Último corte, con fecha y hora visibles",
        "Publicar el último corte del IEC (actualizaciones cada 10 minutos) indicando en todo "
        "momento la fecha y hora del corte.",
        proven_by=("fuera",),
        evidencia_manual="El informe de `prep-iac audit URL` (estado.json y cabecera "
                         "X-PREP-Corte presentes y consistentes, corte vigente)."),
    Requirement(
        "CONV-II.a.1", "Interconexión por SFTP",
        "La interconexión con el difusor es por SFTP a través del enlace dedicado.",
        proven_by=("dentro", "fuera")),
    Requirement(
        "CONV-II.a.2", "Alta disponibilidad",
        "La infraestructura deberá estar configurada en un esquema de alta disponibilidad "
        "preferentemente.",
        mandatory=False, proven_by=("dentro", "laboratorio"),
        evidencia_manual="Si hay dos nodos: el resultado de la prueba de conmutación "
                         "(`./dev test`, pruebas de HA) sobre este inventario."),
    Requirement(
        "CONV-II.b.1", "Enlace web de 10 Mbps simétrico",
        "Un enlace web de 10 Mbps síncrono mínimo.",
        proven_by=("dentro", "fuera"),
        evidencia_manual="El contrato o factura del enlace con su capacidad simétrica."),
    Requirement(
        "CONV-II.c.1", "Disco 100 GB, RAM 8 GB, 2 núcleos",
        "Servidores con disco duro de 100 GB, 8 GB de memoria RAM y 2 núcleos como mínimo.",
        proven_by=("dentro",)),
    Requirement(
        "CONV-II.c.2", "Fuente de poder, tarjeta de red y disco redundantes",
        "Servidor con fuente de poder, tarjeta de red y disco duro redundantes.",
        proven_by=("dentro",),
        evidencia_manual="Para lo que el sistema operativo no ve (RAID por controladora, "
                         "fuentes sin IPMI, redundancia del hipervisor): la hoja del equipo o "
                         "el reporte de la controladora/hipervisor con el número de serie."),
    Requirement(
        "CONV-II.c.3", "Sistema operativo Linux",
        "Servidor con sistema operativo LINUX (Red Hat, Centos, Debian, Ubuntu, etc.): "
        "cualquier Linux cumple.",
        proven_by=("dentro",)),
    Requirement(
        "CONV-II.f", "Infraestructura distinta a la mínima, evaluada por el IEC",
        "Si no se cumple algún requisito de la sección II, el difusor puede enviar las "
        "características de su infraestructura para que la DEIE las evalúe.",
        mandatory=False, proven_by=("dentro", "documentos"),
        evidencia_manual="La ficha de infraestructura (`prep-iac expediente`) enviada a la DEIE y la resolución "
                         "firmada por el IEC sobre lo que no cumple la sección II."),
    Requirement(
        "CONV-II.d.1", "Firewall contra ataques de red y DoS",
        "Firewall capaz de detectar y filtrar ataques de red, con capacidad suficiente y capaz "
        "de detectar y contener ataques de negación de servicio.",
        proven_by=("dentro", "laboratorio")),
    Requirement(
        "CONV-II.d.2", "Detector de intrusos para ataques web",
        "Detector de intrusos capaz de detectar y contener ataques de ambiente web.",
        proven_by=("dentro", "laboratorio")),
    Requirement(
        "CONV-II.e", "Energía ininterrumpida y planta de emergencia",
        "Todos los dispositivos de la operación conectados a sistemas de energía "
        "ininterrumpida y plantas de emergencia.",
        proven_by=("dentro", "laboratorio")),
    Requirement(
        "CONV-III.1", "El IEC actualiza cada 10 minutos por SSH",
        "El IEC se conecta por SSH a los servidores del difusor y actualiza la carpeta de "
        "publicación cada 10 minutos (o lo que determine el Consejo General).",
        proven_by=("dentro", "laboratorio"),
        evidencia_manual="El estado del publicador del IEC (`prep-iac status`) mostrando los "
                         "cortes confirmados por este difusor durante los simulacros."),
    Requirement(
        "CONV-III.2", "Aviso tras 3 periodos fallidos",
        "Tras 3 periodos de actualización consecutivos fallidos (30 minutos) se interrumpe la "
        "transmisión, se presenta el aviso en el portal del difusor y el IEC inhabilita la liga.",
        proven_by=("dentro", "laboratorio"),
        evidencia_manual="El resultado de la prueba de falla del laboratorio (aviso encendido "
                         "y apagado) o del simulacro."),
    Requirement(
        "CONV-IV.1", "Control de acceso lógico y físico",
        "Contar con sistemas y procedimientos de control de acceso lógico y físico.",
        proven_by=("dentro",),
        evidencia_manual="El acceso físico no lo ve ninguna máquina: el procedimiento de acceso "
                         "al sitio de los servidores y su bitácora de accesos."),
    Requirement(
        "CONV-IV.3", "Pruebas de continuidad y de penetración",
        "Realizar pruebas de continuidad y seguridad (penetración) a la infraestructura.",
        proven_by=("laboratorio",),
        evidencia_manual="El resultado de las pruebas de ataque y conmutación de prep-iac "
                         "(`./dev test`) y los informes de las pruebas propias: `prep-iac "
                         "pentest` y `prep-iac continuidad ups`, `enlace` y `ha` (se unen al "
                         "informe con `--pentest-informe`)."),
    Requirement(
        "CONV-IV.4", "Procedimientos de operación y contingencia",
        "Contar con procedimientos de operación y contingencia.",
        proven_by=("documentos",),
        evidencia_manual="Los procedimientos generados con `prep-iac runbook -i INVENTARIO`, "
                         "revisados y firmados por el responsable técnico."),
    Requirement(
        "CONV-V", "Instalación, simulacros y operación",
        "Etapas de instalación y pruebas (12–15 may), ejercicios y simulacros (16–30 may) y "
        "operación (6–15 jun); nombre, cargo, teléfono y horario del personal técnico de cada "
        "etapa.",
        proven_by=("dentro", "laboratorio", "documentos", "calendario"),
        evidencia_manual="Las constancias de participación en las pruebas y simulacros del IEC "
                         "(o el informe de `prep-iac simulacro`)."),
    Requirement(
        "CONV-VI", "Memoria técnica",
        "Entregar la memoria técnica: usuarios que consultaron, bitácoras web del 6 y 7 de "
        "junio, incidencias, comparativo de visitas y sugerencias.",
        proven_by=("documentos", "calendario"),
        evidencia_manual="La memoria técnica generada con `prep-iac memoria`, con las "
                         "bitácoras y sus sumas de verificación, entregada a más tardar el 15 "
                         "de junio."),
)

# Informative rows: what the call does not ask but the Institute may want to read. Never
# mandatory: they never decide the exit code, in strict mode either.
INFORMATIVE: tuple[Requirement, ...] = (
    Requirement(
        "INF-soporte", "Distribución soportada por los despliegues de prep-iac",
        "No lo pide la convocatoria (cualquier Linux cumple CONV-II.c.3): dice si prep-iac "
        "despliega esta versión (Debian 12 y 13, Ubuntu LTS desde 22.04).",
        mandatory=False, proven_by=("dentro",)),
    Requirement(
        "INF-tls", "HTTPS con TLS actual",
        "No lo pide la convocatoria: protocolos, cifrados y certificado del sitio.",
        mandatory=False, proven_by=("fuera",)),
    Requirement(
        "INF-cabeceras", "Cabeceras de seguridad HTTP",
        "No lo pide la convocatoria: nosniff, Referrer-Policy, HSTS, sin versión del servidor.",
        mandatory=False, proven_by=("fuera",)),
    Requirement(
        "INF-endurecimiento", "Endurecimiento del sistema operativo",
        "No lo pide la convocatoria: parámetros del núcleo, actualizaciones de seguridad, sin "
        "servicios innecesarios.",
        mandatory=False, proven_by=("dentro",)),
)
CONVOCATORIA = REQUIREMENTS
REQUIREMENTS = REQUIREMENTS + INFORMATIVE

BY_ID = {r.id: r for r in REQUIREMENTS}


def requirement(req_id: str) -> Requirement:
    return BY_ID[req_id]
