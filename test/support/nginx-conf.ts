/** An nginx.conf that keeps every file nginx writes under `prefix`, so tests run as root without touching /var. */
export function nginxConf(prefix: string, servers: string[], options: { masterProcess: boolean }): string {
  return `daemon off;
master_process ${options.masterProcess ? 'on' : 'off'};
worker_processes 1;
user root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  ${servers.join('\n  ')}
}
`;
}
