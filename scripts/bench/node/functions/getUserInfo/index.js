// getUserInfo, Node reference (bench/test only): the caller from wx-server-sdk getWXContext().
'use strict';
const cloud = require('wx-server-sdk');

cloud.init();

exports.main = async () => {
  const { OPENID, APPID, UNIONID } = cloud.getWXContext();
  if (!OPENID) return { error: 'UNAUTHENTICATED', message: 'no verified caller identity' };
  return { openid: OPENID, appid: APPID, unionid: UNIONID ?? null };
};
