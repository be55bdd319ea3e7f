// Symbol visibility for the public API of libwhistler.
#pragma once

#if defined(__GNUC__)
#define WHISTLER_API __attribute__((visibility("default")))
#else
#define WHISTLER_API
#endif
