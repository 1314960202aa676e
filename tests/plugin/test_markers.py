"""The marker sets a test's own threshold or opts it out; the fixture shows what was seen."""

from __future__ import annotations

from tests.plugin.conftest import Project


def test_marker_raises_lowers_and_disables_the_threshold(project: Project) -> None:
    """threshold= above the stall passes, below the run's threshold fails, None opts out."""
    project.tests(
        """
        import time
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.loopwatch(threshold=0.5)
        async def test_raised():
            time.sleep(0.1)

        @pytest.mark.asyncio
        @pytest.mark.loopwatch(threshold=0.03)
        async def test_lowered():
            time.sleep(0.06)

        @pytest.mark.asyncio
        async def test_run_threshold():
            time.sleep(0.06)

        @pytest.mark.asyncio
        @pytest.mark.loopwatch(threshold=None)
        async def test_opted_out():
            time.sleep(0.1)
        """
    )
    result = project.run("--loopwatch-threshold=0.08", "--strict-markers", "-rA")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_lowered _*",
            "loopwatch: 1 step held the event loop for >= 0.030s (worst 0.06*s; *)",
            "PASSED test_suite.py::test_raised",
            "PASSED test_suite.py::test_run_threshold",
            "PASSED test_suite.py::test_opted_out",
            "FAILED test_suite.py::test_lowered - *",
        ]
    )


def test_class_marker_applies_to_its_methods_and_the_closest_wins(project: Project) -> None:
    """A marker on a class covers its tests; a marker on a method overrides it."""
    project.tests(
        """
        import time
        import pytest

        @pytest.mark.loopwatch(threshold=None)
        class TestLegacy:
            @pytest.mark.asyncio
            async def test_opted_out_by_class(self):
                time.sleep(0.1)

            @pytest.mark.asyncio
            @pytest.mark.loopwatch(threshold=0.05)
            async def test_back_in(self):
                time.sleep(0.1)
        """
    )
    result = project.run("--loopwatch-threshold=0.05", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_suite.py::TestLegacy::test_back_in - *"])


def test_bad_marker_value_errors_the_test(project: Project) -> None:
    """A marker threshold that is not a positive number errors that test, saying why."""
    project.tests(
        """
        import pytest

        @pytest.mark.loopwatch(threshold="fast")
        def test_bad():
            pass

        @pytest.mark.loopwatch(0.1)
        def test_positional():
            pass
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*loopwatch marker: threshold must be a number of seconds, got 'fast'*",
            "*loopwatch marker: use @pytest.mark.loopwatch(threshold=SECONDS)*",
        ]
    )


def test_marker_is_registered_even_when_off(project: Project) -> None:
    """Under --strict-markers the marker is known with or without a threshold."""
    project.tests(
        """
        import pytest

        @pytest.mark.loopwatch(threshold=0.2)
        def test_marked():
            pass
        """
    )
    project.run("--strict-markers").assert_outcomes(passed=1)
    project.run("--strict-markers", "--loopwatch-threshold=0.05").assert_outcomes(passed=1)
    project.run("--markers").stdout.fnmatch_lines(["@pytest.mark.loopwatch(threshold=SECONDS):*"])


def test_fixture_exposes_the_stalls_of_the_test(project: Project) -> None:
    """The `loopwatch` fixture lists each stall with duration, cause and blocking line."""
    project.tests(
        """
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio
        @pytest.mark.loopwatch(threshold=None)
        async def test_sees_its_stall(loopwatch):
            await asyncio.sleep(0)
            assert loopwatch.stalls == []
            time.sleep(0.1)
            await asyncio.sleep(0)  # the blocking step ends here
            [stall] = loopwatch.stalls
            assert stall.duration >= 0.1
            assert stall.blocking_line.code == "time.sleep(0.1)"
            assert stall.blocking_line.file == "test_suite.py"
            assert loopwatch.threshold is None

        @pytest.mark.asyncio
        async def test_threshold_is_the_tests(loopwatch):
            assert loopwatch.threshold == 0.05
            assert loopwatch.active
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=2)


def test_fixture_is_inert_when_loopwatch_is_off(project: Project) -> None:
    """Without a threshold the fixture exists, sees nothing and says it is inactive."""
    project.tests(
        """
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_off(loopwatch):
            time.sleep(0.1)
            assert loopwatch.stalls == []
            assert not loopwatch.active
            assert loopwatch.threshold is None
        """
    )
    project.run().assert_outcomes(passed=1)
