// A temporary directory holding a zoo.cfg to load, shared by the zoo.cfg
// tests (test_config*.cpp). Header-only: each test file is its own program.
#ifndef ZABD_TESTS_CONFIG_TEST_UTIL_H
#define ZABD_TESTS_CONFIG_TEST_UTIL_H

#include <CppUTest/TestHarness.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "server/config.h"

struct CfgDir {
    char dir[64];
    std::string path; // dir/zoo.cfg
    std::vector<std::string> warnings;
    char err[1024] = "";
    srv_config c;
    bool loaded = false;

    // Makes /tmp/zabd-<tag>.XXXXXX.
    explicit CfgDir(const char *tag)
    {
        snprintf(dir, sizeof dir, "/tmp/zabd-%s.XXXXXX", tag);
        if (mkdtemp(dir) == NULL)
            FAIL("mkdtemp");
        path = std::string(dir) + "/zoo.cfg";
    }
    ~CfgDir()
    {
        if (loaded)
            srv_config_fini(&c);
        std::string cmd = std::string("rm -rf '") + dir + "'";
        if (system(cmd.c_str()) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    CfgDir(const CfgDir &) = delete;
    CfgDir &operator=(const CfgDir &) = delete;

    std::string data() const
    {
        return std::string(dir) + "/data";
    }
    void write(const std::string &text)
    {
        FILE *f = fopen(path.c_str(), "wb");
        CHECK(f != NULL);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
    }
    // srv_config_load_flags on zoo.cfg (or, with use_file false, the
    // built-in configuration), after freeing what the last load held.
    int load_written(const srv_jvm_flags *flags = nullptr, bool use_file = true)
    {
        if (loaded)
            srv_config_fini(&c);
        warnings.clear();
        err[0] = '\0';
        int rc = srv_config_load_flags(&c, use_file ? path.c_str() : nullptr, flags, collect,
                                       &warnings, err, sizeof err);
        loaded = rc == 0;
        return rc;
    }
    bool warned(const std::string &piece) const
    {
        for (const std::string &w : warnings)
            if (w.find(piece) != std::string::npos)
                return true;
        return false;
    }

  private:
    static void collect(void *arg, const char *msg)
    {
        static_cast<std::vector<std::string> *>(arg)->push_back(msg);
    }
};

#endif
