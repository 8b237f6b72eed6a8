<%@ page contentType="text/html; charset=UTF-8" %>
<% String q = request.getParameter("q"); %>
<p>Search: <%= org.apache.commons.text.StringEscapeUtils.escapeHtml4(q) %></p>
