module salsa.debian.org/loupe-team/loupe

go 1.24.0

require (
	github.com/urfave/cli/v2 v2.27.7
	golang.org/x/sys v0.38.0
	gopkg.in/yaml.v3 v3.0.1
	pault.ag/go/debian v0.21.0
)

require (
	github.com/ProtonMail/go-crypto v1.4.1 // indirect
	github.com/cloudflare/circl v1.6.2 // indirect
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/xrash/smetrics v0.0.0-20240521201337-686a1a2994c1 // indirect
	golang.org/x/crypto v0.41.0 // indirect
	pault.ag/go/topsort v0.1.1 // indirect
)
