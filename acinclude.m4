dnl HS_CHECK_LIB(VAR, PKG-MODULE, HEADER, FUNCTION, LIBRARIES, DEBIAN-PACKAGE)
dnl
dnl Sets VAR_CFLAGS and VAR_LIBS from pkg-config when it knows PKG-MODULE
dnl (with its version floor); otherwise, as tmux does for libevent, looks
dnl for HEADER and for FUNCTION in LIBRARIES with the compiler alone, so a
dnl system without pkg-config or without the .pc file still builds. Stops
dnl with the Debian package to install when neither finds it.
AC_DEFUN([HS_CHECK_LIB], [
  PKG_CHECK_MODULES([$1], [$2], [hs_found=yes], [hs_found=no])
  AS_IF([test "x$hs_found" = xno], [
    AC_MSG_NOTICE([pkg-config does not know $2: looking for $3 and $4 directly])
    hs_save_LIBS=$LIBS
    LIBS=
    AC_CHECK_HEADER([$3], [
      AC_SEARCH_LIBS([$4], [$5], [hs_found=yes
        $1_CFLAGS=
        $1_LIBS=$LIBS])])
    LIBS=$hs_save_LIBS
  ])
  AS_IF([test "x$hs_found" = xno],
    [AC_MSG_ERROR([$2 not found; on Debian: apt-get install $6])])
])
