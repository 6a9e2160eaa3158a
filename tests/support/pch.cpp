// The translation unit that builds the tests' precompiled header (tests/support/pch.hpp).
