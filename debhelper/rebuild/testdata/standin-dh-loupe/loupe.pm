# Stand-in for dh-loupe's sequence addon, used only by loupe's rebuild-driver
# tests until the real dh-loupe .deb exists (make deb). It runs dh_loupe
# after dh_auto_test; the real addon runs the test step under loupe instead.
use strict;
use warnings;
insert_after('dh_auto_test', 'dh_loupe');
1;
