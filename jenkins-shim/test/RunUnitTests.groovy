import org.junit.runner.Description
import org.junit.runner.JUnitCore
import org.junit.runner.Result
import org.junit.runner.notification.Failure
import org.junit.runner.notification.RunListener

/*
 * Runs every test/unit/*Test.groovy with JUnit 4 and prints one line per test, then
 * "unit: N passed, N failed". Exits non-zero when any test failed.
 */

File unitDir = new File(System.getProperty('wharf.jenkinsShim', 'jenkins-shim'), 'test/unit')
List<File> files = unitDir.listFiles().findAll { File file -> file.name.endsWith('Test.groovy') }.sort()
assert files : "no tests in ${unitDir}"
Class[] classes = files.collect { File file -> this.class.classLoader.parseClass(file) } as Class[]

JUnitCore junit = new JUnitCore()
Set<Description> failed = [] as Set
junit.addListener(new RunListener() {

    @Override
    void testFailure(Failure failure) {
        failed << failure.description
        println "not ok ${failure.description.className}.${failure.description.methodName}"
        List<String> trace = failure.trace.readLines().findAll { String line -> !line.contains('at org.junit.') }
        println trace.take(20).collect { String line -> "    ${line}" }.join('\n')
    }

    @Override
    void testFinished(Description description) {
        if (!failed.contains(description)) {
            println "ok ${description.className}.${description.methodName}"
        }
    }

})
Result result = junit.run(classes)
println "unit: ${result.runCount - result.failureCount} passed, ${result.failureCount} failed"
// The runner's exit status is how run.sh (and CI) learn that a test failed.
System.exit(result.wasSuccessful() && result.runCount > 0 ? 0 : 1) // groovylint-disable-line SystemExit
