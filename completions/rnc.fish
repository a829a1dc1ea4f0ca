complete -c rnc -s p -l source-port -d 'Local port to connect from; with -l, the port to listen on' -r
complete -c rnc -s s -l source -d 'Local address to connect from; with -l, the address to listen on; with -U -u, the local socket path' -r -f -a "(__fish_print_hostnames)"
complete -c rnc -s w -l wait -d 'Connect timeout' -r
complete -c rnc -s q -d 'Quit TIME after end of input on stdin (negative: never)' -r
complete -c rnc -s i -l idle-timeout -d 'Quit when nothing has been sent or received for TIME' -r
complete -c rnc -s d -l delay -d 'Sleep TIME after each chunk read from stdin' -r
complete -c rnc -s e -l exec -d 'Run PROG (split on blanks, no shell) for each connection, its stdin and stdout joined to the socket' -r
complete -c rnc -s c -l sh-exec -d 'Run CMD with /bin/sh -c for each connection, its stdin and stdout joined to the socket' -r
complete -c rnc -l on-close -d 'After each connection has closed, run HOOK (a script file, run like `bash FILE` unless executable, or a /bin/sh command line) with the client\'s bytes on its stdin and the connection in its environment (NCAT_*, RNC_*)' -r
complete -c rnc -l hook-max-input -d 'At most SIZE bytes of what the client sent are given to the hook (default 1M)' -r
complete -c rnc -l hook-timeout -d 'Kill a hook that runs longer than TIME' -r
complete -c rnc -s m -l max-conns -d 'With -l -k: at most N clients at once; more are accepted and closed (default 100)' -r
complete -c rnc -s o -l output -d 'Log the data of both directions to FILE, raw' -r -F
complete -c rnc -s x -l hex-dump -d 'Log the data of both directions to FILE as a hex dump (ncat\'s format)' -r -F
complete -c rnc -l allow -d 'Admit only clients matching HOST (repeatable; see ALLOW AND DENY)' -r -f -a "(__fish_print_hostnames)"
complete -c rnc -l allowfile -d 'Admit only clients matching a host in FILE' -r -F
complete -c rnc -l deny -d 'Refuse clients matching HOST; deny wins over allow (repeatable)' -r -f -a "(__fish_print_hostnames)"
complete -c rnc -l denyfile -d 'Refuse clients matching a host in FILE' -r -F
complete -c rnc -s I -d 'Receive buffer size (SO_RCVBUF); K and M suffixes allowed' -r
complete -c rnc -s O -d 'Send buffer size (SO_SNDBUF); K and M suffixes allowed' -r
complete -c rnc -s T -d 'IP type of service: a number, or lowdelay, throughput, reliability, lowcost, critical, inetcontrol, netcontrol, af11..af43, cs0..cs7, ef' -r
complete -c rnc -s M -d 'Outgoing IP TTL / IPv6 hop limit (1-255)' -r
complete -c rnc -l ssl-cert -d 'Certificate (PEM) to present' -r -F
complete -c rnc -l ssl-key -d 'Private key (PEM) of --ssl-cert' -r -F
complete -c rnc -l ssl-trustfile -d 'Trusted certificates (PEM) instead of the system store' -r -F
complete -c rnc -l ssl-servername -d 'Server name for SNI and verification' -r
complete -c rnc -l ssl-alpn -d 'ALPN protocols to offer, comma separated' -r
complete -c rnc -l ssl-ciphers -d 'Cipher suites to allow' -r
complete -c rnc -l compat -d 'Meaning of the letters that differ between netcats (see PERSONALITIES)' -r -f -a "ncat\t'Nmap ncat (default)'
openbsd\t'OpenBSD nc'
traditional\t'traditional (Hobbit) nc'"
complete -c rnc -l proxy -d 'Connect through the proxy at HOST[:PORT] (IPv6 as [::1]:3128; default port 3128 for http, 1080 for socks)' -r
complete -c rnc -s X -l proxy-type -d 'Proxy protocol: http (default), socks4 or socks5; -X also takes connect, 4 and 5. With -l, http makes rnc an HTTP proxy' -r
complete -c rnc -l proxy-auth -d 'Credentials for the proxy: HTTP Basic or Digest (answered after a 407), SOCKS5 user/password, SOCKS4 user id (USER only); default: $NCAT_PROXY_AUTH. With -l --proxy-type http: what clients must send (Basic or Digest)' -r
complete -c rnc -l proxy-dns -d 'Who resolves the target\'s name: local, remote (the proxy; default), both (local first) or none' -r
complete -c rnc -s 4 -d 'Use IPv4 only'
complete -c rnc -s 6 -d 'Use IPv6 only'
complete -c rnc -s l -l listen -d 'Listen for one incoming connection (port 31337 when none is given)'
complete -c rnc -s n -l nodns -d 'Do not resolve host names (only numeric addresses are accepted)'
complete -c rnc -s u -l udp -d 'Use UDP instead of TCP'
complete -c rnc -s U -l unixsock -d 'Use a Unix domain socket (a datagram socket with -u); @NAME is an abstract socket'
complete -c rnc -s z -d 'Zero-I/O mode: only report whether ports accept connections; PORT may be a list or range (22,80,8000-8080), and several may be given'
complete -c rnc -l hook-coalesce -d 'With -k: connections that close while a hook runs lead to one more run, with the latest data'
complete -c rnc -s k -l keep-open -d 'Listen mode: serve many clients at once (OpenBSD personality: one after another); connect mode: do not quit when the peer closes, run until stdin is done too'
complete -c rnc -l broker -d 'Connection broker: listen (-l is implied) and send what each client sends to every other client; stdin goes to every client, stdout is not used'
complete -c rnc -l chat -d 'Chat server (with -l): a broker that names each client <userN>, announces who comes and goes, and escapes control characters'
complete -c rnc -l no-stdin -d 'Do not read stdin'
complete -c rnc -l send-only -d 'Only send data; discard what is received and quit at end of stdin'
complete -c rnc -l recv-only -d 'Only receive data; never read stdin or send'
complete -c rnc -l no-shutdown -d 'Do not half-close the connection (shutdown SHUT_WR) at end of stdin'
complete -c rnc -s N -d 'Half-close at end of stdin (accepted for OpenBSD nc; this is the default)'
complete -c rnc -s C -l crlf -d 'Send LF read from stdin as CRLF (an existing CRLF is left alone)'
complete -c rnc -s t -l telnet -d 'Refuse the peer\'s telnet option negotiation and remove telnet commands from the data'
complete -c rnc -l append-output -d 'Append to the log files instead of overwriting them'
complete -c rnc -s b -d 'Allow broadcast (SO_BROADCAST)'
complete -c rnc -l ssl -d 'Use TLS (DTLS with -u)'
complete -c rnc -l ssl-verify -d 'Verify the server certificate (implies --ssl)'
complete -c rnc -s v -l verbose -d 'Be verbose (repeat for more)'
complete -c rnc -s h -l help -d 'Print help (-h: a summary)'
complete -c rnc -l version -d 'Print version'
