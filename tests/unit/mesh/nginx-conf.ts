import type { Manifest } from './manifests'

// The nginx.conf that F5 NGINX Ingress Controller writes for the component's mergeable Ingresses, reduced to
// what the end-to-end test runs: one server for the master's host, one location per minion path, with the
// minion's nginx.org/* annotations turned into the directives the controller's template emits, and the
// headers its template sets on every proxied request. Values come from the built manifests only.

export interface EdgeConfOptions {
  manifests: Manifest[]
  /** 127.0.0.1:PORT NGINX listens on. */
  listen: string
  /** host:port of ledgerd's API, standing in for the Service. */
  upstream: string
  /** Directory for the pid file, logs and temp files. */
  prefix: string
  /** Source address NGINX connects to ledgerd from, so a test can tell the proxy from the client. */
  proxyBind?: string
}

export interface EdgeLocation {
  ingress: string
  path: string
  annotations: Record<string, string>
}

/** The minions' locations, with the master's annotations underneath their own (as the controller merges). */
export function edgeLocations(manifests: Manifest[]): EdgeLocation[] {
  const ingresses = manifests.filter((m) => m.kind === 'Ingress')
  const type = (m: Manifest) => m.metadata.annotations?.['nginx.org/mergeable-ingress-type']
  const masters = ingresses.filter((m) => type(m) === 'master')
  if (masters.length !== 1) throw new Error(`expected one master Ingress, found ${masters.length}`)
  const master = masters[0] as Manifest
  return ingresses
    .filter((m) => type(m) === 'minion')
    .flatMap((minion) =>
      (minion.spec.rules as { http: { paths: { path: string; pathType: string }[] } }[]).flatMap((rule) =>
        rule.http.paths.map(({ path, pathType }) => {
          if (pathType !== 'Prefix') throw new Error(`${minion.metadata.name}: pathType ${pathType}`)
          return {
            ingress: minion.metadata.name,
            path,
            annotations: { ...master.metadata.annotations, ...minion.metadata.annotations },
          }
        }),
      ),
    )
}

/** nginx.org/limit-req-key is written ${variable}; nginx.conf wants $variable. */
const nginxVariable = (value: string) => value.replaceAll(/\$\{(\w+)\}/g, '$$$1')

export function edgeNginxConf({ manifests, listen, upstream, prefix, proxyBind }: EdgeConfOptions): string {
  const locations = edgeLocations(manifests)
  const zones: string[] = []
  const blocks = locations.map(({ ingress, path, annotations }) => {
    const a = (name: string) => {
      const value = annotations[`nginx.org/${name}`]
      if (value === undefined) throw new Error(`${ingress}: no nginx.org/${name}`)
      return value
    }
    const zone = `${ingress}-limit`
    zones.push(
      `limit_req_zone ${nginxVariable(a('limit-req-key'))} zone=${zone}:${a('limit-req-zone-size')} rate=${a('limit-req-rate')};`,
    )
    const noDelay = a('limit-req-no-delay') === 'true' ? ' nodelay' : ''
    return `
    location ${path} {
      client_max_body_size ${a('client-max-body-size')};
      proxy_connect_timeout ${a('proxy-connect-timeout')};
      proxy_read_timeout ${a('proxy-read-timeout')};
      proxy_send_timeout ${a('proxy-send-timeout')};
      limit_req zone=${zone} burst=${a('limit-req-burst')}${noDelay};
      limit_req_status ${a('limit-req-reject-code')};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      ${proxyBind ? `proxy_bind ${proxyBind};` : ''}
      proxy_pass http://ledgerd;
    }`
  })
  return `
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 256; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  ${zones.join('\n  ')}
  upstream ledgerd { server ${upstream}; keepalive 16; }
  server {
    listen ${listen};
    ${blocks.join('\n')}
  }
}
`
}
