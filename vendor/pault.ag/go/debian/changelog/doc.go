/*
Parse the Debian changelog format.
*/
package changelog // import "pault.ag/go/debian/changelog"
